import { useEffect, useRef, type ReactNode } from 'react';

interface ConfirmQuestionProps {
  /** What saying yes does, in a sentence or two. */
  children: ReactNode;
  /** The yes button's text, e.g. "Yes, restore", and its name for screen readers, which says what to. */
  yes: string;
  yesLabel: string;
  /** The other button's text; "Cancel" unless the action has a better word for keeping things. */
  no?: string;
  tone: 'danger' | 'primary';
  onYes: () => void;
  onNo: () => void;
  /** While the answer is being sent. */
  busy?: boolean;
}

/** A row's "are you sure" in place of the button that asked it. */
export function ConfirmQuestion({ children, yes, yesLabel, no = 'Cancel', tone, onYes, onNo, busy = false }: ConfirmQuestionProps) {
  const yesButton = useRef<HTMLButtonElement>(null);
  // It replaces the button that asked: keyboard focus moves with it instead of being lost.
  useEffect(() => {
    yesButton.current?.focus();
  }, []);
  return (
    <>
      <p>{children}</p>
      <div className="row-actions">
        <button ref={yesButton} type="button" className={`button-small button-${tone}`} onClick={onYes} disabled={busy} aria-label={yesLabel}>
          {yes}
        </button>
        <button type="button" className="button-small" onClick={onNo}>
          {no}
        </button>
      </div>
    </>
  );
}
