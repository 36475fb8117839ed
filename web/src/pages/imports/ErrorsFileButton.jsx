// Downloads a finished job's errors file (every invalid or duplicate row with its reason), or
// says there is none.

import { useState } from "preact/hooks";
import { api } from "../../lib/api.js";
import { Button, ErrorText } from "../../lib/ui.jsx";

export default function ErrorsFileButton({ job }) {
  const [error, setError] = useState(null);
  const rows = (job.invalid || 0) + (job.duplicates || 0);
  if (rows === 0) return <p class="muted">No invalid or duplicate rows.</p>;
  const download = async () => {
    setError(null);
    try {
      const base = (job.fileName || "import").replace(/\.[^.]*$/, "");
      await api.download(`/api/imports/${encodeURIComponent(job.id)}/errors`, `${base}-errors.csv`);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div class="errors-file">
      <Button variant="secondary" onClick={download}>
        Download errors file ({rows.toLocaleString("en-US")} rows)
      </Button>
      <ErrorText error={error} />
    </div>
  );
}
