// Past imports (GET /api/imports, newest first): state, counts and a link to each; refreshed
// when a job completes.

import { useEffect, useState } from "preact/hooks";
import { api } from "../../lib/api.js";
import { useLiveEvent } from "../../lib/live.js";
import { ErrorText } from "../../lib/ui.jsx";
import { formatNumber } from "./JobCounts.jsx";

export function StateBadge({ state }) {
  return <span class={`badge badge--${state}`}>{state}</span>;
}

export default function ImportList() {
  const [jobs, setJobs] = useState(null);
  const [error, setError] = useState(null);
  const [version, setVersion] = useState(0);
  useLiveEvent("import:completed", () => setVersion((v) => v + 1), []);
  useLiveEvent("reconnected", () => setVersion((v) => v + 1), []);
  useEffect(() => {
    const controller = new AbortController();
    api
      .get("/api/imports", { signal: controller.signal })
      .then((body) => {
        setJobs(body.items);
        setError(null);
      })
      .catch((err) => err.name !== "AbortError" && setError(err));
    return () => controller.abort();
  }, [version]);

  return (
    <section class="card" aria-labelledby="import-list-title">
      <h2 id="import-list-title">Past imports</h2>
      <ErrorText error={error} />
      {jobs && jobs.length === 0 && <p class="muted">No imports yet.</p>}
      {jobs && jobs.length > 0 && (
        <div class="table-scroll" role="region" aria-labelledby="import-list-title" tabIndex={0}>
          <table class="table imports-table" data-testid="imports-table">
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Started</th>
                <th scope="col">State</th>
                <th scope="col" class="num">Rows</th>
                <th scope="col" class="num">Inserted</th>
                <th scope="col" class="num">Updated</th>
                <th scope="col" class="num">Duplicates</th>
                <th scope="col" class="num">Invalid</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((job) => (
                <tr key={job.id} data-id={job.id}>
                  <td>
                    <a href={`/imports/${job.id}`}>{job.fileName}</a>
                    {job.dryRun && <span class="muted"> (dry run)</span>}
                  </td>
                  <td>{new Date(job.createdAt).toLocaleString()}</td>
                  <td><StateBadge state={job.state} /></td>
                  <td class="num">{formatNumber(job.totalRows)}</td>
                  <td class="num">{formatNumber(job.inserted)}</td>
                  <td class="num">{formatNumber(job.updated)}</td>
                  <td class="num">{formatNumber(job.duplicates)}</td>
                  <td class="num">{formatNumber(job.invalid)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
