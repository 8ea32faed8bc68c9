import { api } from '../api.server';

export const loader = api('jobLoader');
export const action = api('jobAction');
