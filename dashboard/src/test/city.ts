// A small city for map and inspector tests.
import type { CityMapData } from '../api/types';

export const CITY: CityMapData = {
  categories: ['restaurant', 'bar', 'cafe', 'music', 'comedy', 'karaoke', 'sports'],
  venues: {
    id: ['00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000a2', '00000000-0000-0000-0000-0000000000a3'],
    lat: [40.7, 40.72, 40.74],
    lng: [-73.95, -73.93, -73.91],
    category: [0, 1, 1],
    interactions: [10, 3, 0],
    bookings: [2, 0, 0],
    demand: [1.5, 0.2, 0],
  },
  homes: { lat: [40.71, 40.73], lng: [-73.94, -73.92] },
  users_total: 2,
  users_with_home: 2,
  bounds: { min_lat: 40.7, max_lat: 40.74, min_lng: -73.95, max_lng: -73.91 },
};
