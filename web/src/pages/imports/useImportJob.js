// Follows one import job: its first state from GET /api/imports/:id, then `import:progress` and
// `import:completed` socket events; while the job runs and no event came for 2 s, it polls
// GET /api/imports/:id every 2 s instead (and refetches after a reconnection).

import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../../lib/api.js";
import { live } from "../../lib/live.js";

export const POLL_MS = 2000;
const FINISHED = new Set(["completed", "failed", "reverted"]);

export const isFinished = (job) => Boolean(job) && FINISHED.has(job.state);

/** → {job, setJob, error}; `initial` (the job a POST answered) shows at once. */
export function useImportJob(id, initial = null) {
  const [job, setJob] = useState(initial);
  const [error, setError] = useState(null);
  const latest = useRef(job);
  latest.current = job;

  useEffect(() => {
    if (!id) return undefined;
    const controller = new AbortController();
    let lastEventAt = 0;
    const update = (next) => {
      latest.current = next;
      setJob(next);
    };
    const fetchJob = async () => {
      try {
        update(await api.get(`/api/imports/${encodeURIComponent(id)}`, { signal: controller.signal }));
        setError(null);
      } catch (err) {
        if (err.name !== "AbortError") setError(err);
      }
    };
    const onProgress = (progress) => {
      if (progress.id !== id) return;
      lastEventAt = Date.now();
      const current = latest.current;
      if (isFinished(current)) return; // a late progress event never undoes the final counts
      update({ ...current, ...progress, state: "running" });
    };
    const onCompleted = (finished) => {
      if (finished.id !== id) return;
      lastEventAt = Date.now();
      update(finished);
    };
    const offs = [
      live.on("import:progress", onProgress),
      live.on("import:completed", onCompleted),
      live.on("reconnected", fetchJob),
    ];
    const timer = setInterval(() => {
      if (!isFinished(latest.current) && Date.now() - lastEventAt >= POLL_MS) fetchJob();
    }, POLL_MS);
    fetchJob(); // after subscribing: an event sent before it is not missed
    return () => {
      controller.abort();
      clearInterval(timer);
      for (const off of offs) off();
    };
  }, [id]);

  return { job, setJob: (next) => { latest.current = next; setJob(next); }, error };
}
