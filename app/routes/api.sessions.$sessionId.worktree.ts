import { api } from '../api.server';

export const loader = api('worktreeLoader');
export const action = api('worktreeAction');
