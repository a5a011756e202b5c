/**
 * Progress events emitted by long operations. Library code only calls `onProgress`;
 * the CLI decides whether to draw a bar (stdout is a TTY) or stay quiet.
 */
export interface ProgressEvent {
  /** Stage name, e.g. "commit", "pull", "download". */
  stage: string;
  done: number;
  total?: number;
  /** Unit of done/total: "objects", "bytes", "packages". */
  unit?: string;
  message?: string;
}

export type ProgressListener = (event: ProgressEvent) => void;
