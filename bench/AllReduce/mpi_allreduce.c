/* The other CPU engine considered: Open MPI's MPI_Allreduce (Debian libopenmpi-dev) of the same sizes, measured the
 * same way as Program.cs. mpirun -np WORLD ./mpi_allreduce SECONDS SIZE... */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  double seconds = atof(argv[1]);
  for (int a = 2; a < argc; a++) {
    long size = atol(argv[a]);
    float* data = malloc(size * sizeof(float));
    for (long i = 0; i < size; i++) data[i] = 1.0f;
    for (int i = 0; i < 3; i++) MPI_Allreduce(MPI_IN_PLACE, data, (int)size, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    double t = MPI_Wtime();
    MPI_Allreduce(MPI_IN_PLACE, data, (int)size, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    double one = MPI_Wtime() - t;
    int n = (int)(seconds / (one > 1e-6 ? one : 1e-6));
    if (n < 3) n = 3;
    if (n > 100000) n = 100000;
    MPI_Bcast(&n, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    t = MPI_Wtime();
    for (int i = 0; i < n; i++) MPI_Allreduce(MPI_IN_PLACE, data, (int)size, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    double each = (MPI_Wtime() - t) / n;
    if (rank == 0) printf("RESULT openmpi %ld %.4E %.3f\n", size, each, size * 4.0 / each / 1e9);
    fflush(stdout);
    free(data);
  }
  MPI_Finalize();
  return 0;
}
