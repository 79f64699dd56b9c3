import { ApiError } from '../api/api-error.js';

/** A failed request in plain words, placed right next to what caused it. */
export function ErrorNotice({ error, id }: { error: unknown; id?: string }) {
  if (!error) return null;
  const { title, detail } =
    error instanceof ApiError ? error : { title: 'Something went wrong', detail: 'Reload the page and try again. Nothing was changed.' };
  return (
    <div className="notice notice-error" role="alert" id={id}>
      <strong>{title}.</strong> {detail !== title ? detail : null}
    </div>
  );
}
