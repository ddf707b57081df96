import type { ContainerInfo, ImageInfo } from './transport.js';

/**
 * The libpod JSON both transports read: the CLI's `--format json` prints the
 * same documents the REST API answers, so one mapping serves both.
 */
export interface RawImage {
  Id: string;
  Architecture: string;
  Os: string;
  RepoTags?: string[] | null;
}

export interface RawContainer {
  Id: string;
  Name: string;
  ImageName: string;
  State: { Status: string; ExitCode: number };
  Config?: { Labels?: Record<string, string> | null };
}

export interface RawListedContainer {
  Id: string;
  Names: string[];
  Image: string;
  State: string;
  ExitCode: number;
  Labels?: Record<string, string> | null;
}

export function imageInfoOf(raw: RawImage): ImageInfo {
  return {
    id: raw.Id.replace(/^sha256:/, ''),
    architecture: raw.Architecture,
    os: raw.Os,
    names: raw.RepoTags ?? [],
  };
}

export function containerInfoOf(raw: RawContainer): ContainerInfo {
  return {
    id: raw.Id,
    name: raw.Name,
    image: raw.ImageName,
    state: raw.State.Status,
    exitCode: raw.State.ExitCode,
    labels: raw.Config?.Labels ?? {},
  };
}

export function listedContainerOf(row: RawListedContainer): ContainerInfo {
  return {
    id: row.Id,
    name: row.Names[0] ?? '',
    image: row.Image,
    state: row.State,
    exitCode: row.ExitCode,
    labels: row.Labels ?? {},
  };
}
