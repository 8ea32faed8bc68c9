import { api } from '../api.server';

export const loader = api('streamLoader');
export const action = api('wrongMethod');
