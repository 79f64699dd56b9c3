/** What a new server holds when it starts: nothing yet, the users of an uploaded file, or a backup's data. */
export type StartingData = 'nothing' | 'file' | 'clone';

const STARTS: Record<StartingData, string> = {
  nothing: '',
  file: ' with the users of your file',
  clone: ' as a clone of the backup above, all its data under the new name; the server it was taken of stays as it is',
};

/** How "What happens next" ends its second step. */
export const startWords = (data: StartingData) => `then starts your XMPP server${STARTS[data]}.`;
