import { api } from '../api.server';

export const loader = api('approvalLoader');
export const action = api('approvalAction');
