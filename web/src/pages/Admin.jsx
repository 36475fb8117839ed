// Placeholder, replaced by the admin pages.
export default function Admin() {
  return <section><h1>Admin</h1></section>;
}
