import { api } from '../api.server';

export const loader = api('browserSessionsLoader');
export const action = api('wrongMethod');
