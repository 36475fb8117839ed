// Creates a user (POST /api/users): name, email, password and role. The server's 422 details
// and its 409 `email_taken` are shown at their fields.

import { useState } from "preact/hooks";
import { api } from "../../lib/api.js";
import { Button, ErrorText, Field, toast } from "../../lib/ui.jsx";
import { ROLES } from "./roles.js";

const FIELDS = ["name", "email", "password", "role"];
const EMPTY = { name: "", email: "", password: "", role: "agent" };

/** email_taken has no details: it belongs to the email field. */
function atFields(err) {
  if (err.code === "email_taken" && err.details.length === 0) {
    err.details = [{ field: "email", message: "A user with this email already exists." }];
  }
  return err;
}

export default function CreateUserForm({ onCreated }) {
  const [values, setValues] = useState(EMPTY);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const set = (key) => (event) => setValues({ ...values, [key]: event.currentTarget.value });

  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const user = await api.post("/api/users", { ...values, email: values.email.trim() });
      setValues(EMPTY);
      onCreated(user);
      toast(`${user.name} can now sign in as ${user.email}`, { kind: "success" });
    } catch (err) {
      setError(atFields(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="create-user-title">
      <h2 id="create-user-title">Add a user</h2>
      <form onSubmit={submit} noValidate>
        <div class="form-grid">
          <Field label="Name" name="name" value={values.name} onInput={set("name")} error={error} autoComplete="off" />
          <Field label="Email" name="email" type="email" value={values.email} onInput={set("email")} error={error} autoComplete="off" />
          <Field
            label="Password"
            name="password"
            type="password"
            value={values.password}
            onInput={set("password")}
            error={error}
            hint="At least 8 characters."
            autoComplete="new-password"
          />
          <Field label="Role" as="select" name="role" value={values.role} onChange={set("role")} error={error}>
            {ROLES.map((r) => <option key={r.value} value={r.value}>{r.label} ({r.help})</option>)}
          </Field>
        </div>
        <ErrorText error={error} fields={FIELDS} />
        <Button type="submit" busy={busy}>Add user</Button>
      </form>
    </section>
  );
}
