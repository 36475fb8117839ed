// The admin pages in chromium: add a user (and the email_taken error at the email field), change
// a role, deactivate; the organization's name and default country, and a 422 at the field;
// agents are kept out. Checked against the REST API; axe and screenshots of both pages.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Desk } from "./lib/browser.mjs";
import { uniqueEmail } from "../realtime/lib/server.mjs";

let desk;
let admin;

before(async () => {
  desk = await Desk.start();
  admin = await desk.server.register();
});

after(async () => {
  await desk?.close();
});

async function usersOf(token) {
  const res = await desk.server.request("GET", "/api/users", { token });
  assert.equal(res.status, 200);
  return res.body.items;
}

test("users: add one, email taken at the field, change the role, deactivate", async () => {
  const page = await desk.signIn(admin, { path: "/admin/users" });
  const table = page.getByTestId("users-table");
  await table.locator(`tr[data-id="${admin.user.id}"]`).waitFor();

  const email = uniqueEmail("grace");
  await page.getByLabel("Name", { exact: true }).fill("Grace Hopper");
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill("cobol-1959");
  await page.getByLabel("Role", { exact: true }).selectOption("agent");
  await page.getByRole("button", { name: "Add user" }).click();
  const created = (await waitForUser(admin.accessToken, email));
  const row = table.locator(`tr[data-id="${created.id}"]`);
  await row.waitFor();
  assert.equal(await row.getAttribute("data-role"), "agent");
  assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), "", "the form is cleared");

  // The same email again: 409 email_taken, shown at the email field.
  await page.getByLabel("Name", { exact: true }).fill("Grace Again");
  await page.getByLabel("Email", { exact: true }).fill(email.toUpperCase());
  await page.getByLabel("Password", { exact: true }).fill("cobol-1959");
  await page.getByRole("button", { name: "Add user" }).click();
  const emailInput = page.getByLabel("Email", { exact: true });
  await page.locator(".field-invalid", { has: emailInput }).getByText("already exists").waitFor();
  assert.equal(await emailInput.getAttribute("aria-invalid"), "true");
  // A 422 (short password) lands at its field too.
  await page.getByLabel("Email", { exact: true }).fill(uniqueEmail("short"));
  await page.getByLabel("Password", { exact: true }).fill("short");
  await page.getByRole("button", { name: "Add user" }).click();
  await page.locator(".field-invalid", { has: page.getByLabel("Password", { exact: true }) }).locator(".field-error").getByText("at least 8 characters").waitFor();

  await desk.checkAccessibility(page, "admin users");
  await desk.screenshots(page, "admin-users");

  // Change the role.
  await page.getByLabel("Role of Grace Hopper").selectOption("manager");
  await table.locator(`tr[data-id="${created.id}"][data-role="manager"]`).waitFor();
  assert.equal((await usersOf(admin.accessToken)).find((u) => u.id === created.id).role, "manager");

  // Deactivate, after the confirmation.
  page.once("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: "Deactivate Grace Hopper" }).click();
  await table.locator(`tr[data-id="${created.id}"][data-active="false"]`).waitFor();
  assert.equal((await usersOf(admin.accessToken)).find((u) => u.id === created.id).active, false);
  const login = await desk.server.request("POST", "/api/auth/login", { body: { email, password: "cobol-1959" } });
  assert.equal(login.status, 401);

  // Dismissing the confirmation changes nothing.
  page.once("dialog", (dialog) => dialog.dismiss());
  await page.getByRole("button", { name: "Reactivate Grace Hopper" }).click();
  assert.equal(await row.getAttribute("data-active"), "false");
  // Failed requests are logged by chromium itself (the 409 and 422 above); script errors are not allowed.
  assert.deepEqual(page.consoleErrors.filter((e) => !e.startsWith("Failed to load resource")), []);
});

/** The user with `email` once the API lists it. */
async function waitForUser(token, email) {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const user = (await usersOf(token)).find((u) => u.email === email);
    if (user) return user;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${email} was not created`);
}

test("organization: rename, default country, an empty name is refused at the field", async () => {
  const page = await desk.signIn(admin, { path: "/admin/users" });
  await page.getByRole("navigation", { name: "Admin sections" }).getByRole("link", { name: "Organization" }).click();
  const name = page.getByLabel("Organization name");
  await name.waitFor();
  assert.equal(await name.inputValue(), admin.organization.name);

  await name.fill("");
  await page.getByRole("button", { name: "Save" }).click();
  await page.locator(".field-invalid", { has: name }).getByText("must not be empty").waitFor();

  await name.fill("Analytical Engines Ltd");
  await page.getByLabel("Default country").selectOption("GB");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByTestId("toast").getByText("saved").waitFor();
  const res = await desk.server.request("GET", "/api/auth/me", { token: admin.accessToken });
  assert.equal(res.body.organization.name, "Analytical Engines Ltd");
  assert.equal(res.body.organization.defaultCountry, "GB");

  await desk.checkAccessibility(page, "admin organization");
  await desk.screenshots(page, "admin-organization");
});

test("agents see that the admin pages are for admins", async () => {
  const agent = await desk.server.createUserAndLogin(admin.accessToken, { role: "agent" });
  const page = await desk.signIn(agent, { path: "/admin/users" });
  await page.getByText(/admins only|for administrators/i).waitFor();
  assert.equal(await page.getByTestId("users-table").count(), 0);
});
