export { SystemdNotifier, type NotifierOptions } from './notify.js';
export { forJournal, JournalPriorityStream, journalPriorityPrefix, type LineSink } from './journal.js';
