// What a dry run found: its counts once it completes, and its errors file.

import { useImportJob, isFinished } from "./useImportJob.js";
import { ErrorText } from "../../lib/ui.jsx";
import JobCounts, { countsSentence } from "./JobCounts.jsx";
import ErrorsFileButton from "./ErrorsFileButton.jsx";

export default function DryRunResult({ initial }) {
  const { job, error } = useImportJob(initial.id, initial);
  const done = isFinished(job);
  return (
    <section class="dry-run" data-testid="dry-run-result" aria-labelledby="dry-run-title" aria-busy={!done}>
      <h3 id="dry-run-title">Dry run {done ? "result" : "in progress…"}</h3>
      <ErrorText error={error} />
      {job.state === "failed" && <ErrorText error={`The dry run failed: ${job.error || "unknown error"}`} />}
      {done && (
        <>
          <p role="status">
            Nothing was written. Importing this file with these settings would give
            <span class="visually-hidden"> {countsSentence(job)}</span>:
          </p>
          <JobCounts job={job} />
          <ErrorsFileButton job={job} />
        </>
      )}
    </section>
  );
}
