import { api } from '../api.server';

export const loader = api('typesLoader');
export const action = api('wrongMethod');
