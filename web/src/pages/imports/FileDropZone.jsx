// A drop zone that is also a labelled file input: drop a CSV file on it, or choose one with the
// input (mouse or keyboard). Calls onFile(File).

import { useState } from "preact/hooks";

export default function FileDropZone({ id, onFile, fileName }) {
  const [over, setOver] = useState(false);
  const onDragOver = (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    setOver(true);
  };
  const onDrop = (event) => {
    event.preventDefault();
    setOver(false);
    const file = event.dataTransfer.files && event.dataTransfer.files[0];
    if (file) onFile(file);
  };
  return (
    <div
      class={`drop-zone${over ? " drop-zone--over" : ""}`}
      onDragOver={onDragOver}
      onDragEnter={onDragOver}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      <label for={id}>CSV file</label>
      <p class="drop-zone__hint" id={`${id}-hint`}>
        Choose a file, or drop it here. Comma, semicolon or tab separated, UTF-8, with a header row.
      </p>
      <input
        id={id}
        type="file"
        accept=".csv,.tsv,.txt,text/csv,text/plain"
        aria-describedby={`${id}-hint`}
        onChange={(event) => {
          const file = event.currentTarget.files[0];
          if (file) onFile(file);
        }}
      />
      {fileName && <p class="drop-zone__file">Selected: <strong>{fileName}</strong></p>}
    </div>
  );
}
