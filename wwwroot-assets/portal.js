// BatchPortal's few browser-side courtesies; everything else is Blazor.
window.batchPortal = {
  // After a failed submit: scroll to the first field in error and focus it.
  focusFirstInvalid() {
    const field = document.querySelector('.mud-input-error input, .mud-input-error textarea, .mud-input-error .mud-select-input, [data-bp-invalid] input');
    const target = field ?? document.querySelector('.mud-input-error, [data-bp-invalid], [data-testid=form-summary]');
    if (!target) return false;
    target.scrollIntoView({ block: 'center' });
    (field ?? target).focus?.({ preventScroll: true });
    return true;
  },
  // The Clipboard API needs a secure context (HTTPS or localhost); over plain HTTP a hidden text area does it.
  async copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(text); return true; } catch { /* fall through */ }
    }
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    try { return document.execCommand('copy'); } finally { area.remove(); }
  },
  timeZone() {
    return Intl.DateTimeFormat().resolvedOptions().timeZone;
  },
};

// Enter in a one-line field of a form ([data-bp-form]) clicks its submit button ([data-bp-submit]); the field's value is
// committed first (a change event), so Blazor has it before the click.
document.addEventListener('keydown', (e) => {
  if (e.key !== 'Enter' || e.shiftKey || e.isComposing) return;
  const input = e.target;
  if (!(input instanceof HTMLInputElement) || input.type === 'checkbox' || input.closest('.mud-select, .mud-autocomplete')) return;
  const form = input.closest('[data-bp-form]');
  const submit = form?.querySelector('[data-bp-submit]');
  if (!submit || submit.disabled) return;
  e.preventDefault();
  input.dispatchEvent(new Event('change', { bubbles: true }));
  submit.click();
});
