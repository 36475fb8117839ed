// The import's options: what to do with duplicates (dedupe), who gets the new leads (assign:
// nobody, me, round robin over the agents, or one agent; agents' rows are always theirs), and
// the source given to new leads. `error` (an ApiError) puts the server's messages at the fields.

import { Field } from "../../lib/ui.jsx";

export const DEFAULT_OPTIONS = { dedupe: "skip", assign: "none", source: "import" };
export const OPTION_FIELDS = ["dedupe", "assign", "source"];

export default function ImportOptions({ options, onChange, agents, canAssign, error }) {
  const set = (key) => (event) => onChange({ ...options, [key]: event.currentTarget.value });
  return (
    <fieldset class="import-options">
      <legend>Options</legend>
      <div class="form-grid">
        <Field label="Duplicates" as="select" name="dedupe" value={options.dedupe} onChange={set("dedupe")} error={error}>
          <option value="skip">Skip the row</option>
          <option value="update">Fill the existing lead's empty fields</option>
        </Field>
        {canAssign && (
          <Field label="Assign new leads to" as="select" name="assign" value={options.assign} onChange={set("assign")} error={error}>
            <option value="none">Nobody</option>
            <option value="me">Me</option>
            <option value="round_robin">The agents, in turn</option>
            {agents.map((agent) => (
              <option key={agent.id} value={agent.id}>{agent.name} ({agent.email})</option>
            ))}
          </Field>
        )}
        <Field label="Source of new leads" name="source" maxLength={100} value={options.source} onInput={set("source")} error={error} />
      </div>
      {!canAssign && <p class="muted">The leads you import are assigned to you.</p>}
    </fieldset>
  );
}
