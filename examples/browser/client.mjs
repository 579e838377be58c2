// The page's side of worker.mjs: one request at a time is answered there; each call here returns a promise of its
// answer and may follow its progress.

export class TaggerWorker {
  /** Start the worker (a module worker next to this file). */
  constructor() {
    this.worker = new Worker(new URL("./worker.mjs", import.meta.url), { type: "module" });
    this.pending = new Map();
    this.next = 0;
    this.worker.addEventListener("message", ({ data }) => {
      const call = this.pending.get(data.id);
      if (!call) return;
      if (data.progress) {
        call.onProgress?.(data.progress.done, data.progress.total);
        return;
      }
      this.pending.delete(data.id);
      if (data.error !== undefined) call.reject(new Error(data.error));
      else call.resolve(data.result);
    });
    // the worker's script could not be loaded or threw outside a request
    this.worker.addEventListener("error", (event) => {
      event.preventDefault();
      this._failAll(new Error(`the worker failed: ${event.message || "its script could not be loaded"}`));
    });
  }

  /**
   * Ask the worker.
   * @param {string} op load, predict, tags, redact or restore (see worker.mjs)
   * @param {Object} args
   * @param {(done: number, total: number) => void} [onProgress] sentences tagged so far, for long texts
   * @returns {Promise<any>}
   */
  call(op, args, onProgress) {
    return new Promise((resolve, reject) => {
      const id = this.next++;
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, op, args });
    });
  }

  /** Stop the worker; calls still waiting fail. */
  terminate() {
    this.worker.terminate();
    this._failAll(new Error("the worker was stopped"));
  }

  _failAll(error) {
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
  }
}
