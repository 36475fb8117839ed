// The registration page (/register): a new organization and its admin. The server's
// validation messages (422 details, 409 email_taken) are shown at their fields.
import { useState } from "preact/hooks";
import { register } from "../lib/session.js";
import { navigate } from "../lib/router.js";
import { ApiError } from "../lib/api.js";
import { Button, ErrorText, Field } from "../lib/ui.jsx";

const FIELDS = ["organizationName", "name", "email", "password"];

/** A 409 email_taken names no field: it belongs to the email field. */
function atFields(err) {
  if (err instanceof ApiError && err.code === "email_taken" && err.details.length === 0) {
    return new ApiError({ ...err, message: err.message, details: [{ field: "email", message: err.message }] });
  }
  return err;
}

export default function Register() {
  const [form, setForm] = useState({ organizationName: "", name: "", email: "", password: "" });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const bind = (key) => ({ name: key, value: form[key], error, onInput: (e) => setForm({ ...form, [key]: e.currentTarget.value }) });

  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await register({ ...form, email: form.email.trim() });
      navigate("/leads", { replace: true });
    } catch (err) {
      setError(atFields(err));
      setBusy(false);
    }
  };

  return (
    <main id="main" class="auth-page">
      <form class="auth-card" onSubmit={submit} noValidate>
        <h1>Create your organization</h1>
        <ErrorText error={error} fields={FIELDS} />
        <Field label="Organization name" autocomplete="organization" required {...bind("organizationName")} />
        <Field label="Your name" autocomplete="name" required {...bind("name")} />
        <Field label="Email" type="email" autocomplete="username" required {...bind("email")} />
        <Field label="Password" type="password" autocomplete="new-password" required hint="At least 8 characters." {...bind("password")} />
        <Button type="submit" busy={busy}>Create organization</Button>
        <p class="switch">Already have an account? <a href="/login">Sign in</a></p>
      </form>
    </main>
  );
}
