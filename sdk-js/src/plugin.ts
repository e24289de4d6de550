/** What {@link init} hands an optional recorder (session replay, in its own entry point
 * `@tracehouse/browser/replay`, so that pages without it do not load it). */

/** Where and as whom a recorder sends, and the session it records. */
export interface RecorderContext {
  /** Base URL of the OTLP/HTTP receiver, without a trailing slash. */
  endpoint: string;
  /** Headers every request carries (the project key). */
  headers: Record<string, string>;
  /** The tab's session id. */
  sessionId: string;
}

/** A running recorder. */
export interface RunningRecorder {
  /** Sends what is buffered now. Never rejects. */
  flush(): Promise<void>;
  /** Stops recording and sends what is left. Never rejects. */
  stop(): Promise<void>;
}

/** A recorder {@link init} starts with the SDK (see `replay()` in `@tracehouse/browser/replay`). */
export interface Recorder {
  /** Starts recording; `undefined` when the page opted out. */
  start(context: RecorderContext): RunningRecorder | undefined;
}
