// One import job (/imports/:id): its progress bar (live events, polling as a fallback), its
// final counts, its errors file, and Revert for admins and managers.

import { useState } from "preact/hooks";
import { api } from "../../lib/api.js";
import { Button, ErrorText, Spinner } from "../../lib/ui.jsx";
import { useImportJob, isFinished } from "./useImportJob.js";
import JobCounts, { countsSentence, formatNumber } from "./JobCounts.jsx";
import ErrorsFileButton from "./ErrorsFileButton.jsx";
import { StateBadge } from "./ImportList.jsx";

function ImportProgress({ job }) {
  const total = job.totalRows;
  const done = isFinished(job);
  const value = done ? total ?? job.processedRows : job.processedRows;
  const known = typeof total === "number" && total > 0;
  return (
    <div class="import-progress">
      <label for="import-progress-bar">Progress</label>
      <progress
        id="import-progress-bar"
        data-testid="import-progress"
        max={known ? total : undefined}
        value={known ? Math.min(value, total) : undefined}
        aria-valuetext={known ? `${formatNumber(value)} of ${formatNumber(total)} rows` : "waiting to start"}
      />
      <p class="muted" aria-live="polite">
        {known ? `${formatNumber(value)} of ${formatNumber(total)} rows (${Math.floor((100 * value) / total)} %)` : "Waiting to start…"}
      </p>
    </div>
  );
}

function RevertButton({ job, onReverted }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const revert = async () => {
    const question =
      `Revert the import of ${job.fileName}? The ${formatNumber(job.inserted)} leads it inserted are deleted ` +
      "(those changed since are kept) and the fields it filled are restored.";
    if (!window.confirm(question)) return;
    setBusy(true);
    setError(null);
    try {
      onReverted(await api.post(`/api/imports/${encodeURIComponent(job.id)}/revert`));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="revert">
      <Button variant="danger" busy={busy} onClick={revert}>Revert import</Button>
      <ErrorText error={error} />
    </div>
  );
}

export default function ImportJobView({ id, session }) {
  const { job, setJob, error } = useImportJob(id);
  const canRevert = session.user.role !== "agent";
  if (!job) {
    return (
      <section class="card">
        <p><a href="/imports">← All imports</a></p>
        {error ? <ErrorText error={error} /> : <Spinner label="Loading the import" />}
      </section>
    );
  }
  const done = isFinished(job);
  return (
    <section class="card import-job" aria-labelledby="import-job-title">
      <p><a href="/imports">← All imports</a></p>
      <h2 id="import-job-title">
        {job.dryRun ? "Dry run of " : "Import of "}
        {job.fileName} <StateBadge state={job.state} />
      </h2>
      <p class="muted">Started {new Date(job.createdAt).toLocaleString()}</p>
      <ErrorText error={error} />
      <ImportProgress job={job} />
      {job.state === "failed" && <ErrorText error={`The import failed: ${job.error || "unknown error"}`} />}
      {done && (
        <div data-testid="import-result">
          <h3>{job.state === "reverted" ? "Reverted" : "Result"}</h3>
          <p class="visually-hidden" role="status">{job.state === "reverted" ? "Import reverted" : "Import finished"}: {countsSentence(job)}.</p>
          <JobCounts job={job} />
          <ErrorsFileButton job={job} />
          {canRevert && job.state === "completed" && !job.dryRun && <RevertButton job={job} onReverted={setJob} />}
        </div>
      )}
    </section>
  );
}
