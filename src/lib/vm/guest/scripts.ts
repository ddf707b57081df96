/**
 * The default guest's userspace: busybox `sh` scripts baked into the initramfs.
 * Their text is part of the guest's cache key, so editing them rebuilds the guest.
 */

/** The virtserialport name the agent looks for in sysfs (there is no udev to name it). */
export const AGENT_PORT_NAME = 'vm-tools.agent';
/** Static guest address: libslirp's DHCP hands out no gateway under `restrict=on`. */
export const GUEST_ADDRESS = '10.0.2.15';

export const INIT_SCRIPT = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# Debian builds the virtio drivers as modules; "order" lists them dependencies first.
while read -r m; do insmod "/lib/vm-tools/modules/$m" 2>/dev/null; done < /lib/vm-tools/modules/order
ip link set lo up
ip link set eth0 up && ip addr add ${GUEST_ADDRESS}/24 dev eth0 && ip route add default via 10.0.2.2
# Ports appear asynchronously once the host's virtio-serial control messages arrive.
port=
while [ -z "$port" ] || [ ! -e "$port" ]; do
  for d in /sys/class/virtio-ports/*; do
    [ "$(cat "$d/name" 2>/dev/null)" = ${AGENT_PORT_NAME} ] && port="/dev/\${d##*/}"
  done
  [ -n "$port" ] && [ -e "$port" ] || sleep 0.02
done
# PID 1 must never exit (that panics the guest): restart the agent if it dies.
while :; do sh /lib/vm-tools/agent.sh "$port"; sleep 0.2; done
`;

/**
 * One request per line on the port, one answer line per request:
 *   H ID                                 ->  H ID UPTIME_S   (a new client's handshake)
 *   X ID TIMEOUT_S B64_SCRIPT B64_STDIN  ->  R ID EXIT TIMED_OUT -B64_STDOUT -B64_STDERR
 *   C ID B64_PATH SHA256, base64 lines, "."  ->  K ID OK(0|1) SHA256_SEEN
 * Base64 fields carry a leading "-" so an empty one still counts as a field.
 * READY is written once, right after the port is opened: the write blocks until
 * the host connects, so the host learns the guest is up from the line itself.
 * The port is never closed again: closing discards whatever the next client
 * already sent, and reopening races with that client. Between clients a read
 * returns EOF at once (no host connected), so the agent naps 0.2 s and reads again.
 */
// The timeout watchdog marks the timeout before it kills: the agent's \`wait\` returns
// as soon as the command dies, so a mark made after the kill could come too late.
export const AGENT_SCRIPT = `#!/bin/sh
port="$1"
b64() { printf -- -; base64 < "$1" | tr -d '\\n'; }
unb64() { printf '%s' "\${1#-}" | base64 -d; }
cd /tmp
# Children never inherit fd 3 (3>&-): a leftover holder would keep the port busy.
until exec 3<>"$port"; do sleep 0.2; done
echo "READY vm-tools-agent 1 $(cut -d' ' -f1 /proc/uptime)" >&3
while :; do
  if ! read -r op id a b c <&3; then sleep 0.2; continue; fi
  case "$op" in
    H) echo "H $id $(cut -d' ' -f1 /proc/uptime)" >&3 ;;
    X)
      unb64 "$b" > /tmp/.c.$id
      unb64 "$c" > /tmp/.i.$id
      sh /tmp/.c.$id < /tmp/.i.$id > /tmp/.o.$id 2> /tmp/.e.$id 3>&- &
      pid=$!
      w=
      if [ "$a" != 0 ]; then ( sleep "$a"; touch /tmp/.t.$id; kill -9 $pid 2>/dev/null ) 3>&- & w=$!; fi
      wait $pid 2>/dev/null
      code=$?
      [ -n "$w" ] && kill $w 2>/dev/null
      to=0
      [ -e /tmp/.t.$id ] && to=1
      echo "R $id $code $to $(b64 /tmp/.o.$id) $(b64 /tmp/.e.$id)" >&3
      rm -f /tmp/.c.$id /tmp/.i.$id /tmp/.o.$id /tmp/.e.$id /tmp/.t.$id
      ;;
    C)
      p=$(unb64 "$a")
      mkdir -p "$(dirname "$p")"
      while read -r l <&3; do [ "$l" = . ] && break; printf '%s\\n' "$l"; done | base64 -d > "$p.part"
      got=$(sha256sum "$p.part" | cut -d' ' -f1)
      if [ "$got" = "$b" ]; then mv "$p.part" "$p"; echo "K $id 0 $got" >&3
      else rm -f "$p.part"; echo "K $id 1 $got" >&3; fi
      ;;
    *) echo "E $id unknown request" >&3 ;;
  esac
done
`;
