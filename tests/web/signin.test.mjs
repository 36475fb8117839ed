// Signing in and out of the desk in a real browser: registration through the form (the
// server's validation shown at the field), sign-out, sign-in, a wrong password, a silent refresh
// of an invalid access token, and an ended session that sends the user to sign in and back to the
// same view.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Desk, eventually } from "./lib/browser.mjs";
import { unique, uniqueEmail } from "../realtime/lib/server.mjs";

let desk;
before(async () => {
  desk = await Desk.start();
});
after(async () => {
  await desk?.close();
});

async function storedSession(page) {
  return page.evaluate(() => JSON.parse(sessionStorage.getItem("lms.session")));
}

test("register through the form, sign out, sign in again", async () => {
  const page = await desk.newPage();
  await page.goto("/register");
  await page.getByRole("heading", { name: "Create your organization" }).waitFor();
  await desk.checkAccessibility(page, "register");
  await desk.screenshots(page, "register");

  const email = uniqueEmail("founder");
  await page.getByLabel("Organization name").fill(unique("Org"));
  await page.getByLabel("Your name").fill("Ada Founder");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Create organization" }).click();
  // The server's 422 message is shown at the password field.
  const password = page.getByLabel("Password");
  await page.locator('input[name="password"][aria-invalid="true"]').waitFor();
  const describedBy = await password.getAttribute("aria-describedby");
  const message = await page.locator(`[id="${describedBy.split(" ")[0]}"]`).textContent();
  assert.ok(message.trim().length > 0, "a message at the password field");
  await desk.checkAccessibility(page, "register with errors");

  await password.fill("a-good-password");
  await page.getByRole("button", { name: "Create organization" }).click();
  await page.getByTestId("app-shell").waitFor();
  await page.waitForURL("**/leads");

  await page.getByRole("button", { name: /Ada Founder/ }).click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  assert.equal(new URL(page.url()).pathname, "/login");
  assert.equal(await storedSession(page), null);

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a-good-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("app-shell").waitFor();
  await page.locator('[data-testid="connection"][data-state="connected"]').waitFor();
  // The browser logs the 422 above as a failed resource; nothing else may be logged.
  assert.deepEqual(page.consoleErrors.filter((e) => !e.startsWith("Failed to load resource")), []);
});

test("a wrong password shows the server's message", async () => {
  const admin = await desk.server.register();
  const expected = await desk.server.request("POST", "/api/auth/login", { body: { email: admin.user.email, password: "not-the-password" } });
  assert.equal(expected.status, 401);

  const page = await desk.newPage();
  await page.goto("/login");
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  await desk.checkAccessibility(page, "sign-in");
  await desk.screenshots(page, "sign-in");

  await page.getByLabel("Email").fill(admin.user.email);
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  const alert = page.getByRole("alert").filter({ hasText: expected.body.error.message });
  await alert.waitFor();
  assert.equal(new URL(page.url()).pathname, "/login");
  await desk.checkAccessibility(page, "sign-in with an error");
});

test("an invalid access token is refreshed silently", async () => {
  const admin = await desk.server.register();
  const page = await desk.signIn(admin, { path: "/leads?status=new" });
  await page.waitForURL("**/leads?status=new");
  const before = await storedSession(page);
  await page.evaluate(() => {
    const saved = JSON.parse(sessionStorage.getItem("lms.session"));
    sessionStorage.setItem("lms.session", JSON.stringify({ ...saved, accessToken: "garbage" }));
  });
  await page.reload();
  await page.getByTestId("app-shell").waitFor();
  assert.equal(new URL(page.url()).pathname, "/leads");
  const after = await eventually(async () => {
    const s = await storedSession(page);
    assert.notEqual(s.accessToken, "garbage");
    return s;
  });
  assert.notEqual(after.refreshToken, before.refreshToken, "the refresh token rotated");
});

test("an ended session goes to sign-in and comes back to the same view", async () => {
  const admin = await desk.server.register();
  const view = "/leads?status=contacted&q=acme";
  // Opening a view signed out already goes through /login?next=.
  const page = await desk.signIn(admin, { path: view });
  await eventually(() => assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, view));

  // The session is revoked elsewhere (logout with its refresh token), and the access token is no good.
  const saved = await storedSession(page);
  const res = await desk.server.request("POST", "/api/auth/logout", { token: saved.accessToken, body: { refreshToken: saved.refreshToken } });
  assert.equal(res.status, 204);
  await page.evaluate(() => {
    const s = JSON.parse(sessionStorage.getItem("lms.session"));
    sessionStorage.setItem("lms.session", JSON.stringify({ ...s, accessToken: "garbage" }));
  });
  await page.reload();

  await page.getByRole("button", { name: "Sign in" }).waitFor();
  const login = new URL(page.url());
  assert.equal(login.pathname, "/login");
  assert.equal(login.searchParams.get("next"), view);
  await page.getByText("Your session ended").waitFor();

  await page.getByLabel("Email").fill(admin.user.email);
  await page.getByLabel("Password").fill(admin.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("app-shell").waitFor();
  await eventually(() => assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, view));
  assert.equal(await page.getByLabel("Status", { exact: true }).inputValue(), "contacted");
  assert.equal(await page.getByLabel("Search").inputValue(), "acme");
});
