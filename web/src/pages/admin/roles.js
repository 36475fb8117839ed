// The roles of the contract, with what each may do, for the admin pages' selects.

export const ROLES = [
  { value: "agent", label: "Agent", help: "only the leads assigned to them" },
  { value: "manager", label: "Manager", help: "all leads and imports, users read-only" },
  { value: "admin", label: "Admin", help: "everything in the organization" },
];
