// The imports page: /imports (a new import and the past ones) and /imports/:id (one job's
// progress, result, errors file and revert). Parts live in pages/imports/.

import NewImport from "./imports/NewImport.jsx";
import ImportList from "./imports/ImportList.jsx";
import ImportJobView from "./imports/ImportJobView.jsx";
import "./pages.css";

export default function Imports({ session, route }) {
  const id = route.params?.id;
  return (
    <div class="page imports-page">
      <h1>Imports</h1>
      {id ? (
        <ImportJobView key={id} id={id} session={session} />
      ) : (
        <>
          <NewImport session={session} />
          <ImportList />
        </>
      )}
    </div>
  );
}
