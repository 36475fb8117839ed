// A new import: the file (drop zone), its detected column mapping (editable), the options, a
// dry run with its counts and errors file, then the real import (which opens /imports/:id).

import { useEffect, useState } from "preact/hooks";
import { api } from "../../lib/api.js";
import { navigate } from "../../lib/router.js";
import { Button, ErrorText } from "../../lib/ui.jsx";
import { readCsvHead, mappingParameter, mappingProblems } from "./csvHeader.js";
import FileDropZone from "./FileDropZone.jsx";
import MappingTable from "./MappingTable.jsx";
import ImportOptions, { DEFAULT_OPTIONS, OPTION_FIELDS } from "./ImportOptions.jsx";
import DryRunResult from "./DryRunResult.jsx";

/** The active agents an admin or manager may assign the import to. */
function useAgents(canAssign) {
  const [agents, setAgents] = useState([]);
  useEffect(() => {
    if (!canAssign) return undefined;
    const controller = new AbortController();
    api
      .get("/api/users", { signal: controller.signal })
      .then((body) => setAgents(body.items.filter((u) => u.role === "agent" && u.active)))
      .catch(() => setAgents([])); // a convenience: "round robin" and "me" work without it
    return () => controller.abort();
  }, [canAssign]);
  return agents;
}

export default function NewImport({ session }) {
  const canAssign = session.user.role !== "agent";
  const agents = useAgents(canAssign);
  const [file, setFile] = useState(null);
  const [head, setHead] = useState(null); // {delimiter, columns}
  const [options, setOptions] = useState(DEFAULT_OPTIONS);
  const [dryRun, setDryRun] = useState(null); // the dry run's job, for the current file, mapping, options
  const [busy, setBusy] = useState(null); // "dry-run" | "import" while a POST runs
  const [error, setError] = useState(null); // an ApiError, or a string

  const chooseFile = async (chosen) => {
    setFile(chosen);
    setHead(null);
    setDryRun(null);
    setError(null);
    try {
      setHead(await readCsvHead(chosen));
    } catch (err) {
      setError(`${chosen.name}: ${err.message}`);
    }
  };
  const changeField = (index, field) => {
    setHead({ ...head, columns: head.columns.map((c, i) => (i === index ? { ...c, field } : c)) });
    setDryRun(null);
  };
  const changeOptions = (next) => {
    setOptions(next);
    setDryRun(null);
  };

  const problems = head ? mappingProblems(head.columns) : [];
  const submit = async (mode) => {
    setBusy(mode);
    setError(null);
    setDryRun(null);
    try {
      const job = await api.upload("/api/imports", file, {
        contentType: "text/csv",
        query: {
          dryRun: mode === "dry-run" ? "true" : undefined,
          mapping: mappingParameter(head.columns),
          dedupe: options.dedupe,
          assign: canAssign ? options.assign : undefined,
          source: options.source.trim() || undefined,
          fileName: file.name,
        },
      });
      if (mode === "dry-run") setDryRun(job);
      else navigate(`/imports/${job.id}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  return (
    <section class="card new-import" aria-labelledby="new-import-title">
      <h2 id="new-import-title">New import</h2>
      <FileDropZone id="import-file" onFile={chooseFile} fileName={file?.name} />
      {head && (
        <>
          <MappingTable columns={head.columns} delimiter={head.delimiter} onChange={changeField} />
          {problems.length > 0 && (
            <ul class="notice mapping-problems" aria-live="polite">
              {problems.map((p) => <li key={p}>{p}</li>)}
            </ul>
          )}
          <ImportOptions options={options} onChange={changeOptions} agents={agents} canAssign={canAssign} error={error} />
        </>
      )}
      <ErrorText error={error} fields={OPTION_FIELDS} />
      {head && (
        <div class="button-row">
          <Button variant="secondary" busy={busy === "dry-run"} disabled={Boolean(busy) || problems.length > 0} onClick={() => submit("dry-run")}>
            Dry run
          </Button>
          <Button busy={busy === "import"} disabled={Boolean(busy) || problems.length > 0} onClick={() => submit("import")}>
            Import
          </Button>
        </div>
      )}
      {dryRun && <DryRunResult key={dryRun.id} initial={dryRun} />}
    </section>
  );
}
