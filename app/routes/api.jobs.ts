import { api } from '../api.server';

export const loader = api('jobsLoader');
export const action = api('jobsAction');
