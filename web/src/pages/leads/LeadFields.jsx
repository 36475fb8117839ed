// The editable fields of a lead (create and edit forms), with the server's 422 details shown at
// each field. Values are strings; `tags` is comma separated. toLeadBody/changedFields turn them
// into a request body.
import { Field } from "../../lib/ui.jsx";

export const EMPTY_VALUES = { name: "", email: "", phone: "", company: "", source: "", tags: "" };

export function valuesOf(lead) {
  return {
    name: lead.name || "",
    email: lead.email || "",
    phone: lead.phone || "",
    company: lead.company || "",
    source: lead.source || "",
    tags: (lead.tags || []).join(", "),
  };
}

function tagsOf(text) {
  return text.split(",").map((t) => t.trim()).filter(Boolean);
}

/** A POST body: the fields filled in. */
export function toLeadBody(values) {
  const body = {};
  for (const key of ["name", "email", "phone", "company", "source"]) {
    const value = values[key].trim();
    if (value) body[key] = value;
  }
  const tags = tagsOf(values.tags);
  if (tags.length) body.tags = tags;
  return body;
}

/** A PATCH body: only what differs from `lead` (a cleared field is sent as null). */
export function changedFields(values, lead) {
  const body = {};
  const before = valuesOf(lead);
  for (const key of ["name", "email", "phone", "company", "source"]) {
    const value = values[key].trim();
    if (value !== before[key]) body[key] = value === "" ? null : value;
  }
  if (tagsOf(values.tags).join(",") !== tagsOf(before.tags).join(",")) body.tags = tagsOf(values.tags);
  return body;
}

export function LeadFields({ values, onChange, error }) {
  const bind = (key) => ({
    name: key,
    value: values[key],
    error,
    onInput: (event) => onChange({ ...values, [key]: event.currentTarget.value }),
  });
  return (
    <div class="form-grid">
      <Field label="Name" required autocomplete="off" {...bind("name")} />
      <Field label="Email" type="email" autocomplete="off" {...bind("email")} />
      <Field label="Phone" type="tel" autocomplete="off" hint="With or without the country code" {...bind("phone")} />
      <Field label="Company" autocomplete="off" {...bind("company")} />
      <Field label="Source" autocomplete="off" {...bind("source")} />
      <Field label="Tags" autocomplete="off" hint="Separated by commas" {...bind("tags")} />
    </div>
  );
}

export const LEAD_FIELD_NAMES = ["name", "email", "phone", "company", "source", "tags"];
