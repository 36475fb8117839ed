// The organization's settings (/admin/organization): its name and default country (the region
// used to read phone numbers written without a country code), saved with PATCH /api/organization.

import { useMemo, useState } from "preact/hooks";
import { api } from "../../lib/api.js";
import { setOrganization } from "../../lib/session.js";
import { Button, ErrorText, Field, toast } from "../../lib/ui.jsx";
import { countries } from "./countries.js";

const FIELDS = ["name", "defaultCountry"];

export default function OrganizationSettings({ organization }) {
  const [name, setName] = useState(organization.name);
  const [defaultCountry, setDefaultCountry] = useState(organization.defaultCountry);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const options = useMemo(() => {
    const list = countries();
    // A code the list lacks (set through the API) still shows as selected.
    return list.some((c) => c.code === organization.defaultCountry)
      ? list
      : [{ code: organization.defaultCountry, name: organization.defaultCountry }, ...list];
  }, [organization.defaultCountry]);

  const save = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const saved = await api.patch("/api/organization", { name, defaultCountry });
      setOrganization(saved);
      toast("Organization settings saved", { kind: "success" });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card admin-organization" aria-labelledby="organization-title">
      <h2 id="organization-title">Organization</h2>
      <form onSubmit={save} noValidate>
        <Field label="Organization name" name="name" value={name} maxLength={200} required onInput={(e) => setName(e.currentTarget.value)} error={error} />
        <Field
          label="Default country"
          as="select"
          name="defaultCountry"
          value={defaultCountry}
          onChange={(e) => setDefaultCountry(e.currentTarget.value)}
          error={error}
          hint="Phone numbers written without a country code are read as numbers of this country."
        >
          {options.map((c) => (
            <option key={c.code} value={c.code}>{c.name} ({c.code})</option>
          ))}
        </Field>
        <ErrorText error={error} fields={FIELDS} />
        <Button type="submit" busy={busy}>Save</Button>
      </form>
    </section>
  );
}
