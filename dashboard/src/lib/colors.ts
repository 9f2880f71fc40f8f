// The dashboard's palette: one colour per channel, venue category, ranker and reason.

import type { Channel, Ranker } from '../api/types';

export const CHANNEL_COLORS: Record<Channel, string> = {
  user_actions: '#38bdf8',
  recommendations: '#a78bfa',
  bookings: '#34d399',
  social: '#f472b6',
  system: '#fbbf24',
  metrics: '#94a3b8',
  simulation: '#fb923c',
};

export const CHANNEL_LABELS: Record<Channel, string> = {
  user_actions: 'user actions',
  recommendations: 'recommendations',
  bookings: 'bookings',
  social: 'social',
  system: 'system',
  metrics: 'metrics',
  simulation: 'simulation',
};

export const CATEGORY_COLORS: Record<string, string> = {
  restaurant: '#f87171',
  bar: '#c084fc',
  cafe: '#facc15',
  music: '#22d3ee',
  comedy: '#f472b6',
  karaoke: '#4ade80',
  sports: '#fb923c',
};

export const categoryColor = (c: string): string => CATEGORY_COLORS[c] ?? '#cbd5e1';

export const RANKER_COLORS: Record<Ranker, string> = {
  seed2: '#fbbf24',
  default: '#38bdf8',
  popularity: '#f472b6',
  learned: '#4ade80',
};

export const RANKER_NOTES: Record<Ranker, string> = {
  seed2: "the second seed's formula",
  default: 'preferences, context, trends, friends',
  popularity: 'most liked nearby',
  learned: 'BPR collaborative model',
};

/** The reasons the rankers give, each with its own colour; similar signals share a hue family. */
const REASON_COLORS: Record<string, string> = {
  proximity: '#38bdf8',
  nearby: '#38bdf8',
  history: '#a78bfa',
  preference: '#a78bfa',
  venue_preference: '#a78bfa',
  just_visited: '#f87171',
  closed: '#fb7185',
  dietary: '#f43f5e',
  diversity: '#fda4af',
  preference_match: '#4ade80',
  taste_match: '#a3e635',
  category_preference: '#a3e635',
  context: '#2dd4bf',
  trending: '#fb923c',
  popularity: '#fbbf24',
  rating: '#facc15',
  friends_liked: '#f472b6',
  wants_to_go: '#e879f9',
  knows_venue: '#c4b5fd',
  learned: '#22d3ee',
  neighbours: '#67e8f9',
  strength: '#f472b6',
  mutual_friends: '#e879f9',
  adamic_adar: '#c084fc',
  similar_taste: '#a3e635',
  same_places: '#4ade80',
  activity_overlap: '#2dd4bf',
  openness: '#fbbf24',
};
const REASON_PALETTE = ['#38bdf8', '#f472b6', '#4ade80', '#fbbf24', '#c084fc', '#fb923c', '#22d3ee', '#f87171', '#a3e635', '#e879f9'];

/** Whether a reason code has a colour of its own (else it gets one from a hash of its name). */
export function hasReasonColor(code: string): boolean {
  return code in REASON_COLORS;
}

/** A stable colour per reason code, so the same reason looks the same in every column. */
export function reasonColor(code: string): string {
  if (REASON_COLORS[code]) return REASON_COLORS[code];
  let h = 0;
  for (const ch of code) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return REASON_PALETTE[h % REASON_PALETTE.length];
}

/** Tailwind-free colour chip style for a channel. */
export function channelStyle(c: string): { color: string; borderColor: string; background: string } {
  const hex = CHANNEL_COLORS[c as Channel] ?? '#94a3b8';
  return { color: hex, borderColor: `${hex}66`, background: `${hex}1a` };
}
