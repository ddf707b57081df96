/** How to reach an S3-compatible endpoint; parsed from inputs by the command layer. */
export interface S3ClientConfig {
  endpoint?: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary (STS / OIDC) credentials carry one; long-lived keys do not. */
  sessionToken?: string;
}

export type StoreConfig =
  | ({ kind: 's3'; bucket: string; prefix: string } & S3ClientConfig)
  | { kind: 'file'; dir: string };
