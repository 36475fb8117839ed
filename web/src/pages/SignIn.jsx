// The sign-in page (/login): email and password; the server's message on failure; after
// signing in the user goes to ?next= (where the session ended) or /leads.
import { useState } from "preact/hooks";
import { safeNext, signIn } from "../lib/session.js";
import { navigate } from "../lib/router.js";
import { Button, ErrorText, Field } from "../lib/ui.jsx";

export default function SignIn({ route }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const next = safeNext(route.query.next);

  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(email.trim(), password);
      navigate(next, { replace: true });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <main id="main" class="auth-page">
      <form class="auth-card" onSubmit={submit} noValidate>
        <h1>Sign in to the lead desk</h1>
        {route.query.next && <p class="notice">Your session ended. Sign in to continue where you were.</p>}
        <ErrorText error={error} fields={["email", "password"]} />
        <Field label="Email" name="email" type="email" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} error={error} />
        <Field label="Password" name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} error={error} />
        <Button type="submit" busy={busy}>Sign in</Button>
        <p class="switch">New here? <a href="/register">Create an organization</a></p>
      </form>
    </main>
  );
}
