// The counts of an import job as a definition list; each entry has `data-count="<name>"` so
// tests and screen readers find a figure by its name.

const COUNTS = [
  ["totalRows", "Rows"],
  ["inserted", "Inserted"],
  ["updated", "Updated"],
  ["duplicates", "Duplicates"],
  ["invalid", "Invalid"],
  ["reverted", "Reverted"],
  ["kept", "Kept (changed since)"],
];

/** One sentence for screen readers: "3,000 inserted, 15 duplicates, 20 invalid". */
export function countsSentence(job) {
  const parts = [["inserted", "inserted"], ["updated", "updated"], ["duplicates", "duplicates"], ["invalid", "invalid"], ["reverted", "reverted"], ["kept", "kept"]]
    .filter(([key]) => typeof job[key] === "number")
    .map(([key, word]) => `${formatNumber(job[key])} ${word}`);
  return parts.join(", ");
}

export const formatNumber = (n) => (typeof n === "number" ? n.toLocaleString("en-US") : "–");

export default function JobCounts({ job }) {
  return (
    <dl class="job-counts">
      {COUNTS.filter(([key]) => job[key] !== undefined && job[key] !== null).map(([key, label]) => (
        <div key={key} data-count={key}>
          <dt>{label}</dt>
          <dd>{formatNumber(job[key])}</dd>
        </div>
      ))}
    </dl>
  );
}
