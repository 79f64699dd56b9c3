/** Apps we recommend, by platform, with what each supports (checked against their own pages). */
export interface XmppClientApp {
  name: string;
  platform: 'Android' | 'iOS' | 'Desktop';
  omemo: boolean;
  audioVideoCalls: boolean;
  note: string;
}

export const CLIENT_APPS: readonly XmppClientApp[] = [
  { name: 'Conversations', platform: 'Android', omemo: true, audioVideoCalls: true, note: 'The reference Android app; from F-Droid or Google Play.' },
  { name: 'Monocles Chat', platform: 'Android', omemo: true, audioVideoCalls: true, note: 'A Conversations relative with extra features.' },
  { name: 'Monal', platform: 'iOS', omemo: true, audioVideoCalls: true, note: 'For iPhone, iPad and Mac; from the App Store.' },
  { name: 'Siskin IM', platform: 'iOS', omemo: true, audioVideoCalls: true, note: 'For iPhone and iPad; from the App Store.' },
  { name: 'Gajim', platform: 'Desktop', omemo: true, audioVideoCalls: false, note: 'Windows and Linux; strong on group chats and file sharing.' },
  { name: 'Dino', platform: 'Desktop', omemo: true, audioVideoCalls: true, note: 'Linux; a clean, modern app.' },
];
