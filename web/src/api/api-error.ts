/** One field the API refused, as its problem+json `errors` lists them. */
export interface FieldProblem {
  in: string;
  field: string;
  message: string;
}

/** A failed request, in words for the person at the screen (see plain-words.ts). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly fields: FieldProblem[] = [],
  ) {
    super(detail);
    this.name = 'ApiError';
  }

  /** The message for one body field, if the API named it. */
  fieldMessage(field: string): string | undefined {
    return this.fields.find((f) => f.field === field)?.message;
  }
}
