import { api } from '../api.server';

export const loader = api('schedulesLoader');
export const action = api('schedulesAction');
