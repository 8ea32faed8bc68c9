import { api } from '../api.server';

export const loader = api('eventsLoader');
export const action = api('wrongMethod');
