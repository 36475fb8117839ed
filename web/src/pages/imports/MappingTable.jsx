// The detected column mapping as an editable table: one row per CSV header with its first
// values, and a select of the field it is imported as (the server's `mapping` values).

const FIELD_LABELS = {
  name: "Name",
  firstName: "First name",
  lastName: "Last name",
  phone: "Phone",
  email: "Email",
  company: "Company",
  source: "Source",
  status: "Status",
  tags: "Tags",
  custom: "Custom field",
  ignore: "Ignore (not imported)",
};

export default function MappingTable({ columns, onChange, delimiter }) {
  const delimiterName = { ",": "comma", ";": "semicolon", "\t": "tab" }[delimiter];
  return (
    <div class="table-scroll" role="region" aria-labelledby="mapping-caption" tabIndex={0}>
      <table class="table mapping-table">
        <caption id="mapping-caption">
          Column mapping <span class="muted">({columns.length} columns, {delimiterName} separated)</span>
        </caption>
        <thead>
          <tr>
            <th scope="col">Column in the file (examples)</th>
            <th scope="col">Imported as</th>
          </tr>
        </thead>
        <tbody>
          {columns.map((column, index) => (
            <tr key={column.header + index}>
              <th scope="row">
                <label for={`mapping-${index}`}>{column.header || `(column ${index + 1})`}</label>
                <span class="mapping-table__samples">{column.samples.join(" · ") || "no values in the first rows"}</span>
              </th>
              <td>
                <select
                  id={`mapping-${index}`}
                  value={column.field}
                  onChange={(event) => onChange(index, event.currentTarget.value)}
                >
                  {Object.entries(FIELD_LABELS).map(([value, label]) => (
                    <option key={value} value={value}>{label}</option>
                  ))}
                </select>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
