/** Serving repositories over HTTP (see README.md). */
export { serveRepo, type ServeOptions, type RunningServer } from './static.ts';
