/**
 * The connection test run before an app's source (deployment URL, deploy key, http flag) is saved: a source
 * that refuses the key, or a key of the wrong kind, is a field error and nothing is saved.
 */
import { classifyDeployKey } from "./deployKey";
import { checkSourceAccess, type SourceDeployment } from "./sourceDeployment";
import { fieldOfKind, SourceDeploymentError } from "./sourceError";
import { invalidInput } from "./userError";

/** Resolves to the source's tables, or throws a user error naming `deploymentUrl` or `deployKey`. */
export async function checkSourceForSaving(source: SourceDeployment): Promise<string[]> {
  try {
    classifyDeployKey(source.deployKey);
    return (await checkSourceAccess(source)).tables;
  } catch (error) {
    if (error instanceof SourceDeploymentError) throw invalidInput(fieldOfKind(error.kind), error.message);
    throw error;
  }
}
