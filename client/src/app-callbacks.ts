/**
 * Calls an app's callback. What it throws is rethrown on its own tick, as an
 * EventEmitter listener's would be: it must not break the caller's bookkeeping
 * (a watch's sync queue, graphql-ws's), nor be swallowed.
 */
export function notify<T>(callback: ((value: T) => void) | undefined, value: T): void {
  try {
    callback?.(value);
  } catch (error) {
    // A fresh macrotask on every platform (process.nextTick is Node's alone).
    setTimeout(() => {
      throw error;
    });
  }
}
