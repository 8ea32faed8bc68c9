import { api } from '../api.server';

export const loader = api('sessionApprovalsLoader');
export const action = api('wrongMethod');
