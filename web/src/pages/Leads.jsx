// Placeholder, replaced by the leads table.
export default function Leads() {
  return <section><h1>Leads</h1></section>;
}
