import { api } from '../api.server';

export const loader = api('approvalsLoader');
export const action = api('wrongMethod');
