// Shared components of the desk, styled by styles.css:
//
//   <Button variant="primary|secondary|danger|ghost" busy>Save</Button>
//   <Field label="Email" name="email" type="email" value onInput error={err} />   (an <input>)
//   <Field label="Status" as="select" value onChange>{options}</Field>           (or "textarea")
//   <ErrorText error={err} />            an ApiError, Error or string, in words (role="alert")
//   toast("Saved"); toast("Failed", { kind: "error" });   <Toaster /> (once, in the shell)
//   <Modal title onClose variant="dialog|panel">...</Modal>   focus kept inside, Escape closes
//   <Spinner label="Loading leads" />
//
// `error` of a Field is the field's message, or an ApiError: then its `details` entry for
// `name` is shown.

import { useEffect, useId, useRef, useState } from "preact/hooks";

export function Button({ variant = "primary", busy = false, type = "button", class: className = "", children, disabled, ...props }) {
  return (
    <button type={type} class={`btn btn-${variant} ${className}`.trim()} disabled={disabled || busy} aria-busy={busy ? "true" : undefined} {...props}>
      {busy && <span class="spinner spinner-inline" aria-hidden="true" />}
      {children}
    </button>
  );
}

/** The message of `error` for `field`: a string as is, or an ApiError's details entry. */
function fieldError(error, field) {
  if (!error) return undefined;
  if (typeof error === "string") return error;
  return error.details?.find((d) => d.field === field)?.message;
}

export function Field({ label, as = "input", name, error, hint, class: className = "", children, id, ...props }) {
  const autoId = useId();
  const inputId = id || `f-${autoId}`;
  const message = fieldError(error, name);
  const describedBy = [message && `${inputId}-error`, hint && `${inputId}-hint`].filter(Boolean).join(" ") || undefined;
  const Control = as;
  return (
    <div class={`field ${message ? "field-invalid" : ""} ${className}`.trim()}>
      <label for={inputId}>{label}</label>
      <Control id={inputId} name={name} aria-invalid={message ? "true" : undefined} aria-describedby={describedBy} {...props}>
        {children}
      </Control>
      {hint && <small id={`${inputId}-hint`} class="hint">{hint}</small>}
      {message && <small id={`${inputId}-error`} class="field-error">{message}</small>}
    </div>
  );
}

/** The error in words. ApiErrors whose details are shown at fields pass `fields` to skip them. */
export function ErrorText({ error, fields = [], children }) {
  if (!error) return null;
  const text = typeof error === "string" ? error : error.message || "Something went wrong.";
  const atFields = typeof error === "object" && error.details?.length > 0 && error.details.every((d) => fields.includes(d.field));
  if (atFields) return <p class="error-text visually-hidden" role="alert">{text}</p>;
  return (
    <div class="error-text" role="alert">
      <span>{text}</span>
      {children}
    </div>
  );
}

export function Spinner({ label = "Loading" }) {
  return (
    <span class="spinner-wrap" role="status">
      <span class="spinner" aria-hidden="true" />
      <span class="visually-hidden">{label}</span>
    </span>
  );
}

// ---- toasts ----------------------------------------------------------------------------------

const toastListeners = new Set();
let toastSeq = 0;

/** Shows a short message at the corner of the screen. kind: "info" | "success" | "error". */
export function toast(message, { kind = "info", timeout = 5_000 } = {}) {
  const item = { id: ++toastSeq, message, kind };
  for (const listener of toastListeners) listener(item, timeout);
}

export function Toaster() {
  const [items, setItems] = useState([]);
  useEffect(() => {
    const timers = new Set();
    const add = (item, timeout) => {
      setItems((list) => [...list.slice(-4), item]);
      const timer = setTimeout(() => {
        timers.delete(timer);
        setItems((list) => list.filter((t) => t.id !== item.id));
      }, timeout);
      timers.add(timer);
    };
    toastListeners.add(add);
    return () => {
      toastListeners.delete(add);
      timers.forEach(clearTimeout);
    };
  }, []);
  const dismiss = (id) => setItems((list) => list.filter((t) => t.id !== id));
  return (
    <div class="toasts" aria-live="polite">
      {items.map((t) => (
        <div key={t.id} class={`toast toast-${t.kind}`} data-testid="toast" role="status">
          <span>{t.message}</span>
          <button type="button" class="toast-close" aria-label="Dismiss" onClick={() => dismiss(t.id)}>×</button>
        </div>
      ))}
    </div>
  );
}

// ---- modal / side panel ----------------------------------------------------------------------

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * A dialog (centered) or a panel (from the right): focus moves in on open and back to where it
 * was on close, Tab stays inside, Escape and the backdrop call onClose.
 */
export function Modal({ title, onClose, variant = "dialog", children, testId, class: className = "" }) {
  const box = useRef(null);
  const titleId = useId();
  useEffect(() => {
    const previous = document.activeElement;
    const heading = box.current?.querySelector("h2");
    (heading || box.current)?.focus();
    return () => {
      if (previous && document.contains(previous)) previous.focus();
    };
  }, []);
  const onKeyDown = (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      onClose();
      return;
    }
    if (event.key !== "Tab" || !box.current) return;
    const items = [...box.current.querySelectorAll(FOCUSABLE)].filter((el) => el.offsetParent !== null);
    if (items.length === 0) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  };
  return (
    <div class={`overlay overlay-${variant}`} onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        ref={box}
        class={`modal modal-${variant} ${className}`.trim()}
        role="dialog"
        aria-modal="true"
        aria-labelledby={`m-${titleId}`}
        data-testid={testId}
        tabIndex={-1}
        onKeyDown={onKeyDown}
      >
        <header class="modal-head">
          <h2 id={`m-${titleId}`} tabIndex={-1}>{title}</h2>
          <button type="button" class="btn btn-ghost icon-button" aria-label="Close" onClick={onClose}>×</button>
        </header>
        <div class="modal-body">{children}</div>
      </div>
    </div>
  );
}
