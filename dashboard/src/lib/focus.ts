/**
 * Whether the keyboard's focus has fallen to the page: on nothing, the body, or a control that
 * was removed or disabled (the button pressed gave way to another, or its action disabled it).
 */
export function focusLost(): boolean {
  const at = document.activeElement;
  return !at || at === document.body || !at.isConnected || (at as HTMLButtonElement).disabled === true;
}
