// Placeholder, replaced by the imports page.
export default function Imports() {
  return <section><h1>Imports</h1></section>;
}
